<#
  Saves the CSV and zip attachments of one Outlook folder received since a given time, and
  describes them in a JSON file. Run by the Charlie agent in the user's session;
  docs/windows-agent.md explains each COM call.
#>
param(
  [Parameter(Mandatory = $true)] [string] $Folder,
  [Parameter(Mandatory = $true)] [string] $Since,
  [Parameter(Mandatory = $true)] [string] $SaveDir,
  [Parameter(Mandatory = $true)] [string] $KnownFile,
  [Parameter(Mandatory = $true)] [string] $OutFile,
  [string] $Account = ''
)
$ErrorActionPreference = 'Stop'

$outlook = New-Object -ComObject Outlook.Application
$mapi = $outlook.GetNamespace('MAPI')

if (-not $Account) {
  $inbox = $mapi.GetDefaultFolder(6)
} else {
  $own = @($mapi.Accounts) | Where-Object { $_.SmtpAddress -eq $Account } | Select-Object -First 1
  if ($own) {
    $inbox = $own.DeliveryStore.GetDefaultFolder(6)
  } else {
    $recipient = $mapi.CreateRecipient($Account)
    if (-not $recipient.Resolve()) { throw "Outlook cannot resolve the mailbox $Account" }
    $inbox = $mapi.GetSharedDefaultFolder($recipient, 6)
  }
}

# "Inbox" is found by its role, whatever the mailbox's language calls it.
$segments = @($Folder.Split('/') | Where-Object { $_ })
if ($segments[0] -eq 'Inbox') {
  $current = $inbox
  $segments = @($segments | Select-Object -Skip 1)
} else {
  $current = $inbox.Store.GetRootFolder()
}
foreach ($segment in $segments) {
  $current = @($current.Folders) | Where-Object { $_.Name -eq $segment } | Select-Object -First 1
  if (-not $current) { throw "No folder $segment in the path $Folder" }
}

$sinceLocal = [DateTime]::Parse($Since, [Globalization.CultureInfo]::InvariantCulture,
  [Globalization.DateTimeStyles]::RoundtripKind).ToLocalTime()
$items = $current.Items.Restrict("[ReceivedTime] >= '" + $sinceLocal.ToString('g') + "'")

$known = New-Object 'System.Collections.Generic.HashSet[string]'
foreach ($line in [IO.File]::ReadAllLines($KnownFile)) { [void]$known.Add($line) }

$found = New-Object System.Collections.ArrayList
foreach ($item in $items) {
  if ($item.Class -ne 43) { continue }
  foreach ($attachment in $item.Attachments) {
    $id = "$($item.EntryID)/$($attachment.Index)"
    if ($attachment.Type -ne 1 -or $attachment.FileName -notmatch '\.(csv|zip)$' -or $known.Contains($id)) { continue }
    $path = Join-Path $SaveDir "$($found.Count + 1)$([IO.Path]::GetExtension($attachment.FileName))"
    $attachment.SaveAsFile($path)
    $sender = $item.SenderEmailAddress
    if ($item.SenderEmailType -eq 'EX') {
      $exchangeUser = $item.Sender.GetExchangeUser()
      if ($exchangeUser) { $sender = $exchangeUser.PrimarySmtpAddress }
    }
    $messageId = $null
    # PR_INTERNET_MESSAGE_ID; an item that never travelled by SMTP has none.
    try { $messageId = $item.PropertyAccessor.GetProperty('http://schemas.microsoft.com/mapi/proptag/0x1035001F') } catch { }
    [void]$found.Add([ordered]@{
        id                = $id
        entryId           = $item.EntryID
        internetMessageId = $messageId
        receivedAt        = $item.ReceivedTime.ToUniversalTime().ToString('o')
        sentAt            = $item.SentOn.ToUniversalTime().ToString('o')
        sender            = $sender
        subject           = $item.Subject
        attachmentName    = $attachment.FileName
        size              = $attachment.Size
        path              = $path
      })
  }
}

$json = ConvertTo-Json -InputObject @($found) -Depth 3 -Compress
[IO.File]::WriteAllText($OutFile, $json, (New-Object Text.UTF8Encoding $false))
