"""Training-time code for the acoustic emotion model (torch; never imported by `edge`)."""
