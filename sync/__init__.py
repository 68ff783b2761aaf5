"""MQTT sync with headquarters: station uplink/downlink and the HQ service."""
