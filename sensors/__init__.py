"""Sensor node: scans the uplink bands with an RTL-SDR, runs dsp on each dwell, reports over MQTT."""
