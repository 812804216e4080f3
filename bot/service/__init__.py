"""Running the process: configuration, the composition's context, start/stop,
the HTTP server, metrics, logs and the database-outage tracker."""
