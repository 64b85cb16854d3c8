"""Product types: the shipped kinds of meters and modules, and the productTypes query."""
