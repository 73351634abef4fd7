// Replaced by the service's sources.
