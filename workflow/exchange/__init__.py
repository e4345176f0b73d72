"""Exchange between the Police and Army subsystems and with other databases (Decree 121/2017
Arts. 6 §3, 8 and 13): signed packages, the keys trusted for each body, agreements and feeds."""
