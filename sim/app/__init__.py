"""The web app (`sim app`): Explore, What-if and Sweeps pages served by Solara on this machine.

Importing this package imports no web framework: `sim.app.app` (the Solara pages) and
`sim.app.server` (starting the server) are imported only by `sim app`.
"""
