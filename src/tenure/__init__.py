"""tenure: an open, warehouse-native customer operating system for the Chief Customer Officer."""

__version__ = "0.1.0"
