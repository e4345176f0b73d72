"""Long work off the request path: jobs recorded in the database (`runs`), carried to a worker
by a queue (`queues`: Redis with RQ, or at once in this process), each of a kind (`kinds`)."""
