// Served from this server only (no CDN): GraphiQL works without internet access.
// Subscriptions run over this server's websocket (graphql-transport-ws); the Headers tab's
// Authorization goes into connection_init, as for any other client.
const url = new URL("/graphql", location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const fetcher = GraphiQL.createFetcher({ url: url.toString(), subscriptionUrl: subscriptionUrl.toString() });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: true,
    defaultQuery: "# Log in with the login mutation, then add the header\n# {\"Authorization\": \"Bearer <accessToken>\"}\n{\n  __typename\n}\n",
  }),
);
