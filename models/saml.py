"""SAML single sign-on per organisation: identity provider configurations and consumed assertions
(issue 19; filled in by the SAML work)."""
