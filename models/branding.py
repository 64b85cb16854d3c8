"""An organisation's personalised theme, its images, and its own login domains
(issue 18; filled in by the login identity work)."""
