package persist

// FileHeaderLen is the length of a FileStore file's header.
const FileHeaderLen = fileHeaderLen

// SaveStages are the stages of a FileStore save, in order.
var SaveStages = []string{stageCreated, stageWritten, stageSynced, stageRenamed, stageDurable, stageTrimmed}

// SetSaveHook sets the function called at each stage of a FileStore save.
// Only a child process of the crash test sets it.
func SetSaveHook(f func(stage string)) { testHookSave = f }
