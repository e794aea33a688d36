"""Neural-network modules (ag.nn)."""
