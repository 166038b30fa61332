"""The portal's routes, one module per area: session, office, assignments, results, audit, api."""
