// Package testenv starts the real components integration tests run against,
// on 127.0.0.1, and stops them with t.Cleanup: dynalite (a local DynamoDB),
// supervisord, and a local SSM endpoint that speaks the AWS JSON protocol.
//
// A missing component is a test failure with the command that installs it,
// never a skip: `make test` installs everything these helpers need.
//
// Subpackages hold what plain programs (make bench, make demo) share with
// the tests: dynalite, the dynalite launcher and its DynamoDB clients;
// localssm, the local SSM endpoint; rie, the real Lambda Runtime Interface
// Emulator around a function binary; supervisord, a private supervisord;
// and syncbuf, the buffer they all read while a process writes it. The
// repository has no Runtime API of its own: the emulator does everything the
// Lambda tests and the bench need.
package testenv
