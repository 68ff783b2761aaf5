"""Widgets every screen shares: the title bar and the translated key footer."""
