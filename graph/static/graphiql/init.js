// Served from this server only (no CDN): GraphiQL works without internet access.
const fetcher = GraphiQL.createFetcher({ url: new URL("/graphql", location.href).toString() });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: true,
    defaultQuery: "# Log in with the login mutation, then add the header\n# {\"Authorization\": \"Bearer <accessToken>\"}\n{\n  __typename\n}\n",
  }),
);
