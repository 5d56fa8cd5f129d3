"""The browser dashboard: static HTML, CSS and ES modules, served by the gateway as they are."""
