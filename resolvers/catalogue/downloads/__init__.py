"""Key downloads: the only way device keys leave the system."""
