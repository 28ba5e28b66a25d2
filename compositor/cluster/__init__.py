"""A wall over several hosts: one layout, its state and commands on an MQTT broker.

Each host runs its own wall (``videowall run LAYOUT --host NAME``: the outputs the
layout's ``hosts:`` section gives it) and joins the others through a broker the
site already has (``--broker mqtt://host:1883``; Eclipse Mosquitto in the tests
and the demo). The broker carries commands and state, never frames:

- ``videowall/<wall>/state/<key>``: retained, the order that last set each part
  of the wall's state (the preset, a tile's call-up, an output's solo, an alarm),
  with the wall-clock instant it takes effect and who set it;
- ``videowall/<wall>/command``: every order as it is taken, for any observer;
- ``videowall/<wall>/host/<name>``: retained, each host's health, ``offline`` by
  MQTT's last will when its connection dies.

A command taken by one host (its API, its control socket) becomes an *order*
(:mod:`~compositor.cluster.messages`) to apply at now + a margin; every host,
the taker included, applies it at that instant on its render loop, so screens on
different hosts switch in the same frame interval when their clocks agree.
Conflicts go to the last writer by timestamp (:mod:`~compositor.cluster.ledger`).

Where it sits: beside the HTTP API, as another transport into the wall's commands
(it feeds the wall's command handler on the render loop and reads its state); it
imports the commands, the live layout and the layout, never the wiring.
"""
