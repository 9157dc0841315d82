"""The science of kamsim: parameters, random environment, variates, rules and records.

The lowest layer: every other package builds on these modules, and they import
nothing above them. Nothing is imported here, so ``import kamsim.model.params`` loads
only what that module needs.
"""
