"""Authenticators and lecture roles."""

from .base import AuthenticatedUser, Authenticator
from .jupyterhub import JupyterHubAuthenticator
from .static import StaticTokenAuthenticator

__all__ = [
    "AuthenticatedUser",
    "Authenticator",
    "JupyterHubAuthenticator",
    "StaticTokenAuthenticator",
]
