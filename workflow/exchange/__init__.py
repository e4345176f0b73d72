"""Exchange between the two subsystems and with other databases (Decree 121/2017 Arts. 6 §3, 8, 13).

A managing body (the Army subsystem's, say) exports a *package* (`outgoing`): every version of its
scope's records written since its last package, read from the append-only version log, signed
with its Ed25519 key (`wire`). The central centre imports it (`incoming`): the signature must
verify against the key registered for that body and every record must lie in its scope
(`trust`), packages apply in order, and each record is created or brought to the package's
version; importing a package twice changes nothing. A record changed locally since the last
package is a conflict: reported, not overwritten. A *feed* (`feeds`) provides the defined fields
of the persons whose records changed to another database, only under an agreement in force.
`policy` holds the gates: who may send, receive and provide."""
