"""Harness guards: protections that watch connector code while a clause runs, and what they found.

loop_watch        — a watchdog that names the connector frame holding the service's event loop (F-WIRE-4)
secret_canary     — unique canary values for every secret the connector reads, to trace leaks (F-WIRE-2)
unsafe_metadata   — pickle streams and code execution in ResourceMeta.decode (F-WIRE-2)
net_egress        — refuses outbound connections to anything but loopback, and records the attempts
hygiene           — threads, child processes and sockets a connector leaves behind
frames            — which stack frames belong to the connector under test, for every guard's report
"""
