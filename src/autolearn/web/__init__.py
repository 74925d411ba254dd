"""The web console: server-rendered page shells (Jinja2) whose data comes from the REST
API in the browser (same origin, session cookie + CSRF header). No CDN, no bundler: the
JavaScript under ``static/js`` is ours, plain ES modules."""
