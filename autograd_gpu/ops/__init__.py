"""The op families. Importing `install()` attaches their methods to Tensor."""
