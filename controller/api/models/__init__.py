"""Request and response models of the controller API, one module per resource."""
