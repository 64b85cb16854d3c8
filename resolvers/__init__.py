"""The GraphQL layer, one package per domain: types, inputs, queries, mutations and domain rules."""
