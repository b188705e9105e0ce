package interactive

// TakeEvery is how often a replica looks in Redis for an organization's
// queued job updates after finding none, for the tests outside the package.
const TakeEvery = takeEvery
