"""The formation view: the one interface the dashboard reads and drives, local or mirrored over the socket.

``formation.FormationView`` is the interface; ``local.LocalFormation`` puts it over a Supervisor in this
process, ``remote.RemoteFormation`` over a procdash running elsewhere (``procdash attach``). Nothing here
imports Textual or rich, so tests and other front ends can drive either side.
"""
