"""Reports of errors in provided data: the recipient's form and the keeping facility's inbox."""
