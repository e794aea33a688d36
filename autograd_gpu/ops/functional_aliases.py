"""The torch.* names of nn.functional's ops (torch.conv2d, torch.layer_norm, ...) and torch's dtype and mode utilities."""

METHODS = {}
FUNCTIONS = {}
INPLACE = {}
