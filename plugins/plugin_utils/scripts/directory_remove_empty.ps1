# Deletes each folder of Path, in the order given, when it is empty; a folder that holds anything (hidden and system
# items count), a file, or nothing at all is left as it is. List a folder before its parent: the parent then goes
# too when the child was the last thing in it. Tidying only: a folder Windows refuses to delete (in use as a
# process's working folder, access denied) is named in `kept` with the reason, never thrown.
param(
    [Parameter(Mandatory = $true)][string[]]$Path
)
$removed = [System.Collections.Generic.List[string]]::new()
$kept = [System.Collections.Generic.List[string]]::new()
foreach ($item in $Path) {
    if (-not [System.IO.Directory]::Exists($item)) {
        continue
    }
    if ([System.IO.Directory]::GetFileSystemEntries($item).Length -gt 0) {
        $kept.Add("${item}: not empty")
        continue
    }
    try {
        # Not recursive: Windows itself refuses a folder that is not empty ("The directory is not empty.").
        [System.IO.Directory]::Delete($item, $false)
        $removed.Add($item)
    }
    catch {
        $kept.Add("${item}: $($_.Exception.GetBaseException().Message)")
    }
}
@{ path = @($Path); removed = [string[]]$removed.ToArray(); kept = [string[]]$kept.ToArray(); changed = ($removed.Count -gt 0) }
