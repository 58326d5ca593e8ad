"""Batches: many jobs from one description (a file of prompts, a prompt matrix, an X/Y/Z
plot), run through the same requests as a single Generate; and the X/Y/Z plot's runner and
its labelled grid picture."""
