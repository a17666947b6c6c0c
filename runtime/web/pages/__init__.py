"""Page routes, one module per area; ``runtime.web.setup.ROUTERS`` lists them."""
