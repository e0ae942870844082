# Deletes files and folder trees, and as much of them as Windows allows: paths longer than MAX_PATH (through
# \\?\), read-only files, and files whose ACL shuts out Administrators (containerd's layer files are owned by
# TrustedInstaller or SYSTEM): for those it takes ownership for Administrators, grants them full control and
# tries again. Junctions and symbolic links are deleted, never followed. When something is still left (a file in
# use, a refused takeover) it throws after deleting everything else, naming each path left and why.
param(
    [Parameter(Mandatory = $true)][string[]]$Path
)

function ConvertTo-LongPath([string]$Item) {
    if ($Item.StartsWith('\\?\')) {
        return $Item
    }
    if ($Item.StartsWith('\\')) {
        return '\\?\UNC\' + $Item.Substring(2)
    }
    return '\\?\' + $Item
}

function ConvertTo-PlainPath([string]$Item) {
    if ($Item.StartsWith('\\?\UNC\')) {
        return '\\' + $Item.Substring(8)
    }
    if ($Item.StartsWith('\\?\')) {
        return $Item.Substring(4)
    }
    return $Item
}

function Remove-OneItem([System.IO.FileSystemInfo]$Info) {
    if ($Info -is [System.IO.DirectoryInfo]) {
        # Not recursive: the children went first, and a junction is removed without touching its target.
        [System.IO.Directory]::Delete($Info.FullName, $false)
    }
    else {
        [System.IO.File]::SetAttributes($Info.FullName, [System.IO.FileAttributes]::Normal)
        [System.IO.File]::Delete($Info.FullName)
    }
}

function Grant-Administrator([string]$Item) {
    # takeown.exe enables SeTakeOwnershipPrivilege itself; *S-1-5-32-544 is Administrators in any language.
    $ErrorActionPreference = 'Continue'
    $null = & "$env:SystemRoot\System32\takeown.exe" /F $Item /A 2>&1
    $owned = $LASTEXITCODE -eq 0
    $null = & "$env:SystemRoot\System32\icacls.exe" $Item /grant '*S-1-5-32-544:F' /C /Q 2>&1
    $granted = $LASTEXITCODE -eq 0
    $ErrorActionPreference = 'Stop'
    return ($owned -and $granted)
}

function Invoke-Retrying([scriptblock]$Action, [string]$Item) {
    # Runs $Action; on access denied, takes the item over for Administrators and runs it once more.
    try {
        & $Action
        return $null
    }
    catch {
        $err = $_.Exception.GetBaseException()
    }
    if ($err -is [System.UnauthorizedAccessException] -and (Grant-Administrator (ConvertTo-PlainPath $Item))) {
        try {
            & $Action
            return $null
        }
        catch {
            $err = $_.Exception.GetBaseException()
        }
    }
    return $err.Message
}

function Add-Ancestor([System.Collections.Generic.HashSet[string]]$Set, [string]$Item, [string]$Top) {
    $parent = [System.IO.Path]::GetDirectoryName($Item)
    while ($parent -and $parent.Length -ge $Top.Length) {
        $null = $Set.Add($parent)
        $parent = [System.IO.Path]::GetDirectoryName($parent)
    }
}

$left = [System.Collections.Generic.List[string]]::new()
$removed = 0
$changed = $false
foreach ($item in $Path) {
    $long = ConvertTo-LongPath $item
    $top = [System.IO.DirectoryInfo]::new($long)
    if (-not $top.Exists) {
        if (-not [System.IO.File]::Exists($long)) {
            continue
        }
        $top = [System.IO.FileInfo]::new($long)
    }
    $changed = $true
    # Folders that keep something left below them are not tried (nor listed): the items inside say why.
    $kept = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    # Children before their folder; never descend into a reparse point.
    $order = [System.Collections.Generic.List[System.IO.FileSystemInfo]]::new()
    $pending = [System.Collections.Generic.Stack[object]]::new()
    $pending.Push(@($top, $false))
    while ($pending.Count -gt 0) {
        $entry = $pending.Pop()
        $info = $entry[0]
        $isLink = ($info.Attributes -band [System.IO.FileAttributes]::ReparsePoint) -ne 0
        if ($entry[1] -or $isLink -or $info -isnot [System.IO.DirectoryInfo]) {
            $order.Add($info)
            continue
        }
        $listing = @{}  # the action runs in a child scope: it hands back the children through this table
        $why = Invoke-Retrying -Item $info.FullName -Action { $listing.children = $info.GetFileSystemInfos() }
        if ($why) {
            $left.Add("$(ConvertTo-PlainPath $info.FullName): $why")
            Add-Ancestor -Set $kept -Item $info.FullName -Top $top.FullName
            continue
        }
        $pending.Push(@($info, $true))
        foreach ($child in $listing.children) {
            $pending.Push(@($child, $false))
        }
    }
    foreach ($info in $order) {
        if ($kept.Contains($info.FullName)) {
            continue
        }
        $why = Invoke-Retrying -Item $info.FullName -Action { Remove-OneItem $info }
        if ($why) {
            $left.Add("$(ConvertTo-PlainPath $info.FullName): $why")
            Add-Ancestor -Set $kept -Item $info.FullName -Top $top.FullName
        }
        else {
            $removed++
        }
    }
}
if ($left.Count -gt 0) {
    $more = if ($left.Count -gt 10) { "; and $($left.Count - 10) more" } else { '' }
    throw "deleted $removed items, but $($left.Count) could not be deleted: $(@($left | Select-Object -First 10) -join '; ')$more"
}
@{ path = @($Path); changed = $changed; removed = $removed }
