"""Station services: each public function is one transaction that also writes its outbox event."""
