// Prints one plain closing line, "Tests: N passed, N failed, N skipped", as the very last line of the
// run, so that CI can read how many tests ran without parsing Jest's table. Jest's own summary reporter
// runs after custom reporters, hence the write at process exit (stderr pipes are synchronous on Linux).
class SummaryLineReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`;
    process.once('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryLineReporter;
