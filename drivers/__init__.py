"""Device drivers: bay hardware sources that yield typed events (independent of `edge`)."""
