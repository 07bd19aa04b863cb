"""Users: the people who log in through OIDC."""
