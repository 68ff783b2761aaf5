"""The `station-edge` command line: the composition root that wires config, store and services."""
