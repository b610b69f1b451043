"""The controller's HTTP API: one router per resource, request/response models in `models/`."""
