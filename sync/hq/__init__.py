"""The HQ side of sync: ingest of every station's uplink, acks, per-station downlink logs."""
