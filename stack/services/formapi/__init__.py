"""FastAPI service: OAuth2 form login (PyJWT), API-key routes, a nested health page, a chat endpoint."""
