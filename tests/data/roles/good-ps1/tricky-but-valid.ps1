# Valid PowerShell that a naive bracket counter gets wrong: quotes and
# brackets inside strings, comments and here-strings. { ( [ in a comment.
<# A block comment with "an odd quote, a ' and a } #>
param([switch]$Inner, [string]$Name = 'x')
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

$a = 'it''s { not a block'
$b = "say ""hi"" to $($NL.Machine) and $(($NL.Machines | ForEach-Object { "$($_.Name) ($($_.Role))" }) -join ', ')"
$c = "${Name}: a drive-qualified $env:COMPUTERNAME and a `"quoted`" word, `$NL not expanded"
$d = @"
a here-string with "quotes", a lone ) and } and $($NL.Lab)
  "@ indented does not end it
"@
$e = @'
literal $NL ( { [ and "@ on no line start
'@
$secret = (Get-Content -Raw -LiteralPath 'C:\ProgramData\nestlab\secrets\domain-admin').TrimEnd("`r", "`n")
$secure = ConvertTo-SecureString -String $secret -AsPlainText -Force
$credential = New-Object System.Management.Automation.PSCredential ("$($NL.NetBIOS)\Administrator", $secure)
Register-ScheduledTask -TaskName t -User "$($NL.NetBIOS)\Administrator" -Password $secret -Force | Out-Null
$list = @(1, 2,
    3) | Where-Object { $_ -gt 1 } |
    ForEach-Object { $_ * 2 }
$h = @{ Key = 'value'; Other = @('a', 'b') }
Write-Output "$a $b $c $d $e $($list -join ',') $($h.Key) done: 100% # not a comment"
