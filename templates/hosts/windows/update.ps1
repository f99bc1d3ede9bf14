# nestlab host script: installs the pending Windows updates of a Windows
# Hyper-V host of a lab through the Windows Update Agent's COM API
# (Microsoft.Update.Session), from wherever the host is set to take them
# (Windows Update, or its WSUS server). It downloads and installs, and never
# restarts the host: nestlab restarts it, once, through the guest agent, when
# this script says a restart is needed (exit code 3010). Run it after
# drain.ps1: installing updates may restart the Hyper-V service and its VMs.
#
# Updates searched: IsInstalled=0 and Type='Software' and IsHidden=0. Updates
# that may ask for user input are skipped (nobody would answer); licence
# agreements are accepted.
#
# Parameters:
#   -Categories NAME,...   only updates in one of these categories ("Security Updates", "Critical Updates", ...)
#   -KB KB1234567,...      only these updates (with or without "KB")
#   -SeverityCritical      only updates whose MSRC severity is Critical
# powershell.exe -File hands a list over as one string: lists are split at commas.
#
# Output (stdout, one JSON document, ConvertTo-Json -Depth 5 -Compress):
#   computer                  string       this host's computer name
#   ok                        bool         false when an update failed, or the search did
#   error                     string|null  what failed
#   criteria                  string       the search criteria
#   found                     int          updates the search found, before the filters
#   updates[]                 array        the updates chosen, in the order found
#   updates[].kb              string|null  KB number(s), "KB5034439" (comma-separated if several)
#   updates[].title           string       the update's title
#   updates[].severity        string|null  MSRC severity: Critical, Important, Moderate, Low
#   updates[].stage           string|null  where it ended: download or install (null: not started)
#   updates[].result          string       NotStarted, InProgress, Succeeded, SucceededWithErrors, Failed, Aborted
#   updates[].result_code     int          the Windows Update OperationResultCode (2 succeeded)
#   updates[].hresult         string|null  its error, "0x80240022"
#   updates[].reboot_required bool         the update needs a restart to finish
#   skipped[]                 array        updates chosen by the filters but not installed
#   skipped[].kb              string|null  KB number(s)
#   skipped[].title           string       the update's title
#   skipped[].reason          string       why
#   kb_not_found[]            array        strings: -KB numbers no pending update has
#   reboot_required_before    bool         Windows waited for a restart before it could install anything
#   reboot_required           bool         a restart is needed (these updates, or earlier ones)
#
# Exit codes:
#   0     done, nothing waits for a restart (also when there was nothing to install)
#   1     an update failed to download or install, or the search failed (see error)
#   3010  done, restart required; also when a restart was pending before and nothing
#         could install yet (reboot_required_before): run this script again after it
#
# State left behind: the updates installed and waiting for the restart;
# nothing of nestlab's own.
param(
    [string[]]$Categories,
    [string[]]$KB,
    [switch]$SeverityCritical
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot 'nestlab-host-lib.ps1')

$Criteria = "IsInstalled=0 and Type='Software' and IsHidden=0"
# OperationResultCode (wuapi.h).
$ResultNames = @{ 0 = 'NotStarted'; 1 = 'InProgress'; 2 = 'Succeeded'; 3 = 'SucceededWithErrors'; 4 = 'Failed'; 5 = 'Aborted' }

# A list parameter's values, split at commas, trimmed, blanks dropped.
function Split-NestlabList {
    param([string[]]$Values)
    if (-not $Values) { return @() }
    return @($Values | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
}

# An update's KB numbers, "KB" first.
function Get-NestlabUpdateKBs {
    param($Update)
    return @(for ($i = 0; $i -lt $Update.KBArticleIDs.Count; $i++) { 'KB' + $Update.KBArticleIDs.Item($i) })
}

function Get-NestlabUpdateCategories {
    param($Update)
    return @(for ($i = 0; $i -lt $Update.Categories.Count; $i++) { $Update.Categories.Item($i).Name })
}

# Records the outcome of one update from a download or install result.
function Set-NestlabUpdateResult {
    param($Record, [string]$Stage, $Outcome)
    $code = [int]$Outcome.ResultCode
    $Record.stage = $Stage
    $Record.result_code = $code
    $Record.result = $ResultNames[$code]
    if ($Outcome.HResult) { $Record.hresult = '0x{0:X8}' -f $Outcome.HResult }
    if ($Stage -eq 'install') { $Record.reboot_required = [bool]$Outcome.RebootRequired }
}

$result = [ordered]@{
    computer = $env:COMPUTERNAME; ok = $false; error = $null; criteria = $Criteria; found = 0
    updates = @(); skipped = @(); kb_not_found = @(); reboot_required_before = $false; reboot_required = $false
}
$records = [System.Collections.Generic.List[object]]::new()
$skipped = [System.Collections.Generic.List[object]]::new()
try {
    $wantKBs = @(Split-NestlabList $KB | ForEach-Object { 'KB' + ($_ -replace '^(?i)KB', '') })
    $wantCategories = @(Split-NestlabList $Categories)

    $session = New-Object -ComObject Microsoft.Update.Session
    $session.ClientApplicationID = 'nestlab'
    $searcher = $session.CreateUpdateSearcher()
    Write-NestlabHostLog "searching for updates: $Criteria"
    $search = $searcher.Search($Criteria)
    $result.found = [int]$search.Updates.Count

    $chosen = New-Object -ComObject Microsoft.Update.UpdateColl
    $chosenRecords = [System.Collections.Generic.List[object]]::new()
    $seenKBs = [System.Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $search.Updates.Count; $i++) {
        $update = $search.Updates.Item($i)
        $kbs = @(Get-NestlabUpdateKBs $update)
        foreach ($k in $kbs) { $seenKBs.Add($k) }
        $kb = $(if ($kbs) { $kbs -join ',' } else { $null })
        $severity = $(if ($update.MsrcSeverity) { "$($update.MsrcSeverity)" } else { $null })
        if ($wantKBs -and -not @($kbs | Where-Object { $wantKBs -contains $_ })) { continue }
        if ($wantCategories -and -not @(Get-NestlabUpdateCategories $update | Where-Object { $wantCategories -contains $_ })) {
            continue
        }
        if ($SeverityCritical -and $severity -ne 'Critical') { continue }
        if ($update.InstallationBehavior.CanRequestUserInput) {
            $skipped.Add([ordered]@{ kb = $kb; title = $update.Title; reason = 'it may ask for user input, which nobody would give' })
            continue
        }
        if (-not $update.EulaAccepted) { $update.AcceptEula() }
        $chosen.Add($update) | Out-Null
        $record = [ordered]@{
            kb = $kb; title = $update.Title; severity = $severity; stage = $null; result = 'NotStarted'
            result_code = 0; hresult = $null; reboot_required = $false
        }
        $records.Add($record)
        $chosenRecords.Add($record)
    }
    $result.kb_not_found = @($wantKBs | Where-Object { $seenKBs -notcontains $_ })
    Write-NestlabHostLog "$($result.found) updates pending, $($chosen.Count) chosen"

    if ($chosen.Count -gt 0) {
        $toDownload = New-Object -ComObject Microsoft.Update.UpdateColl
        $downloadRecords = [System.Collections.Generic.List[object]]::new()
        for ($i = 0; $i -lt $chosen.Count; $i++) {
            if (-not $chosen.Item($i).IsDownloaded) {
                $toDownload.Add($chosen.Item($i)) | Out-Null
                $downloadRecords.Add($chosenRecords[$i])
            }
        }
        if ($toDownload.Count -gt 0) {
            Write-NestlabHostLog "downloading $($toDownload.Count) updates"
            $downloader = $session.CreateUpdateDownloader()
            $downloader.Updates = $toDownload
            $download = $downloader.Download()
            for ($i = 0; $i -lt $toDownload.Count; $i++) {
                $outcome = $download.GetUpdateResult($i)
                if ([int]$outcome.ResultCode -ne 2) { Set-NestlabUpdateResult $downloadRecords[$i] 'download' $outcome }
            }
        }

        $toInstall = New-Object -ComObject Microsoft.Update.UpdateColl
        $installRecords = [System.Collections.Generic.List[object]]::new()
        for ($i = 0; $i -lt $chosen.Count; $i++) {
            if ($chosen.Item($i).IsDownloaded) {
                $toInstall.Add($chosen.Item($i)) | Out-Null
                $installRecords.Add($chosenRecords[$i])
            }
        }
        $installer = $session.CreateUpdateInstaller()
        if ($installer.RebootRequiredBeforeInstallation) {
            $result.reboot_required_before = $true
            Write-NestlabHostLog 'Windows waits for a restart before it installs anything: nothing installed'
        } elseif ($toInstall.Count -gt 0) {
            Write-NestlabHostLog "installing $($toInstall.Count) updates, no restart"
            $installer.Updates = $toInstall
            $installer.AllowSourcePrompts = $false
            $installer.ForceQuiet = $true
            $install = $installer.Install()
            for ($i = 0; $i -lt $toInstall.Count; $i++) {
                Set-NestlabUpdateResult $installRecords[$i] 'install' $install.GetUpdateResult($i)
            }
        }
    }

    $restart = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired
    $result.reboot_required = $restart -or $result.reboot_required_before -or
        [bool]@($records | Where-Object { $_.reboot_required })
    if ($result.reboot_required_before) {
        $result.ok = $true          # nothing failed: the updates wait for the restart
    } else {
        $failed = @($records | Where-Object { $_.result_code -ne 2 })
        if ($failed) {
            $result.error = 'not installed: ' + (($failed | ForEach-Object {
                "$(if ($_.kb) { $_.kb } else { $_.title }) ($($_.stage) $($_.result)$(if ($_.hresult) { ' ' + $_.hresult }))"
            }) -join ', ')
        } else {
            $result.ok = $true
        }
    }
} catch {
    $result.error = "$($_.Exception.Message)"
}
$result.updates = $records.ToArray()
$result.skipped = $skipped.ToArray()
if ($result.error) { Write-NestlabHostLog "update failed: $($result.error)" }
Write-NestlabJson $result
if (-not $result.ok) { exit 1 }
if ($result.reboot_required) { exit 3010 }
exit 0
