"""Controller: ingests sensor reports, locates phones, tracks incidents, drives requests and blocking."""
