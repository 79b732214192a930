// The example app lands with the construct (issue 2).
