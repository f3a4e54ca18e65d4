"""Record -> wire object, per API version: the only place that converts (one module a resource)."""
