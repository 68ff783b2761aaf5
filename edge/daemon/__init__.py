"""The station daemon (`station-edge run`): timed rules on a scheduler, devices, systemd notify.

With the CLI, this package is the composition root: the only place in `edge` that may wire
in the device drivers.
"""
