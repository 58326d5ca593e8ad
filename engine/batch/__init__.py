"""Batches of ordinary jobs: the X/Y/Z plot's runner and its labelled grid picture."""
